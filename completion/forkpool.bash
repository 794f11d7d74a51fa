# bash completion for forkpool(1): the commands, their options, the ::: and :::: separators,
# and file names after :::: and after the options that take a file.
#
# The option lists are the parsers' own spellings (cli/run_options.cc, cli/bench_options.cc);
# the test suite checks them against the parsers, so a new option must be added here too.

_forkpool_global_options='-v --verbose --version -h --help'
_forkpool_run_options='-j --jobs --max-procs --maxprocs -P -k --keep-order --keeporder
  --no-keep-order --nokeeporder --nok --no-k --group --line-buffer --line-buffered
  --linebuffer --linebuffered --lb -u --ungroup --tag --tag-string --tagstring --ctag
  --ctag-string --ctagstring --color --colour --color-failed --colour-failed --colorfailed
  --colourfailed --color-fail --colour-fail --colorfail --colourfail --cf -0 --null -C
  --col-sep --colsep -q --quote -n --max-args --maxargs -N --max-replace-args
  --maxreplaceargs -X -m -s --max-chars --maxchars --dry-run --dryrun --dr --joblog --jl
  --resume --resume-failed --resumefailed --retries --timeout --halt --halt-on-error
  --haltonerror --delay --shuf --results --result --res --files --output-as-files
  --outputasfiles --bar --eta --progress -a
  --arg-file --argfile --will-cite --willcite --nn --nonotice --no-notice -h --help
  --env --record-env --recordenv --plain -J --profile --plus -I --extensionreplace --er
  --basenamereplace --bnr --dirnamereplace --dnr --basenameextensionreplace --bner
  --seqreplace --slotreplace --rpl -d --delimiter -E -r --no-run-if-empty --norunifempty
  --csv -i --replace --parens
  --link --xapply --arg-sep --argsep --arg-file-sep --argfilesep -t --verbose --shellquote
  --shell-quote --shell_quote --process-slot-var --processslotvar --total-jobs --totaljobs
  --total --trim --nice --termseq --term-seq --memfree --load --limit
  --pipe --spreadstdin --pipepart --pipe-part --block --block-size --blocksize --bs
  --recstart --recend --regexp --regex --header --cat --fifo --round-robin --roundrobin
  --round -L --max-lines --maxlines
  -S --sshlogin --sshloginfile --slf --launcher --data-channel --transfer-file --transferfile
  --transfer-files --transferfiles --tf --transfer --return --trc --cleanup --basefile --bf
  --work-dir --workdir --wd'
# The run options that take a value (the next word).
_forkpool_run_value_options='-j --jobs --max-procs --maxprocs -P --tag-string --tagstring
  --ctag-string --ctagstring
  -C --col-sep --colsep -n --max-args --maxargs -N --max-replace-args --maxreplaceargs -s
  --max-chars --maxchars --joblog --jl --retries --timeout --halt --halt-on-error
  --haltonerror --delay --results --result --res -a --arg-file --argfile --env -J --profile
  -I --extensionreplace --er --basenamereplace --bnr --dirnamereplace --dnr
  --basenameextensionreplace --bner --seqreplace --slotreplace --rpl -d --delimiter -E
  --parens -i --replace
  --arg-sep --argsep --arg-file-sep --argfilesep --process-slot-var --processslotvar
  --total-jobs --totaljobs --total --trim --nice --termseq --term-seq --memfree --load --limit
  --recstart --recend --header -L --max-lines --maxlines
  -S --sshlogin --sshloginfile --slf --launcher --data-channel --transfer-file --transferfile
  --transfer-files --transferfiles --tf --return --trc --basefile --bf --work-dir --workdir
  --wd'
# bench's own options, then those of forkpool run's that bench accepts.
_forkpool_bench_options='--workers --runs --json --csv --plot -h --help -a --arg-file
  --argfile -0 --null -C --col-sep --colsep -q --quote -n --max-args --maxargs -N
  --max-replace-args --maxreplaceargs -X -m -s --max-chars --maxchars --retries --timeout
  --delay --group --no-keep-order --nokeeporder --nok --no-k --will-cite --willcite --nn
  --nonotice --no-notice --plus -I --extensionreplace --er --basenamereplace --bnr
  --dirnamereplace --dnr --basenameextensionreplace --bner --seqreplace --slotreplace --rpl
  -d --delimiter -E -r --no-run-if-empty --norunifempty --link --xapply --arg-sep --argsep
  --arg-file-sep --argfilesep --process-slot-var --processslotvar --total-jobs --totaljobs
  --total --trim --nice --termseq --term-seq --memfree --load --limit -i --replace --parens'
_forkpool_bench_value_options='--workers --runs --json --csv --plot'
_forkpool_separators='::: :::+ :::: ::::+'

# Sets COMPREPLY to compgen's candidates, one per line (file names may have spaces).
_forkpool_reply() {
  mapfile -t COMPREPLY < <(compgen "$@")
}

# Readline splits words at ':' (COMP_WORDBREAKS), so it replaces only what follows the last
# colon of the word: take that part off each candidate.
_forkpool_trim_colons() {
  local cur=$1
  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local prefix=${cur%"${cur##*:}"}
    COMPREPLY=("${COMPREPLY[@]#"$prefix"}")
  fi
}

_forkpool_files() {
  compopt -o filenames 2>/dev/null
  _forkpool_reply -f -- "$1"
}

# The value of option $1 (the word before the cursor), or return 1 when $1 takes none.
_forkpool_option_value() {
  local option=$1 cur=$2 value_options=$3
  [[ " ${value_options//$'\n'/ } " == *" $option "* ]] || return 1
  case $option in
    -a | --arg-file | --argfile | --joblog | --jl | --json | --csv | --plot)
      _forkpool_files "$cur" ;;
    --results | --result | --res)
      compopt -o filenames 2>/dev/null
      _forkpool_reply -d -- "$cur" ;;
    --halt | --halt-on-error | --haltonerror)
      _forkpool_reply -W 'never now,fail=1 soon,fail=1 now,success=1 soon,success=1 now,done=1' \
        -- "$cur" ;;
    *) COMPREPLY=() ;;
  esac
  return 0
}

# forkpool run / bench: words $2.. up to the cursor; $1 is the command.
_forkpool_job() {
  local command=$1 first=$2 cur=${COMP_WORDS[COMP_CWORD]}
  local options=$_forkpool_run_options value_options=$_forkpool_run_value_options
  if [[ $command == bench ]]; then
    options=$_forkpool_bench_options
    value_options="$_forkpool_bench_value_options $_forkpool_run_value_options"
  fi
  # Where the cursor is: among the options, in the job's command, or after a separator.
  local i word in_options=1 have_command= separator=
  for ((i = first; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    case $word in
      ::: | :::+ | :::: | ::::+) separator=$word in_options= ;;
      --) [[ -n $in_options ]] && in_options= ;;
      -*)
        if [[ -n $in_options && " ${value_options//$'\n'/ } " == *" $word "* ]]; then
          ((i++))  # its value
        fi ;;
      *) [[ -n $in_options ]] && in_options= have_command=1 ;;
    esac
    [[ -z $in_options && $word != -- ]] && have_command=1
  done
  if [[ $cur == :* ]]; then
    _forkpool_reply -W "$_forkpool_separators" -- "$cur"
    _forkpool_trim_colons "$cur"
    return
  fi
  if [[ -n $in_options ]]; then
    _forkpool_option_value "${COMP_WORDS[COMP_CWORD - 1]}" "$cur" "$value_options" && return
    if [[ $cur == -* ]]; then
      _forkpool_reply -W "$options" -- "$cur"
      return
    fi
  fi
  if [[ -z $have_command && -z $separator ]]; then
    # The job's command; a builtin that is also a program is found twice.
    mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
    return
  fi
  # The command's arguments, ::: values and :::: files: file names.
  _forkpool_files "$cur"
}

_forkpool() {
  local cur=${COMP_WORDS[COMP_CWORD]} i=1
  COMPREPLY=()
  # The global options come before the command.
  while ((i < COMP_CWORD)) && [[ ${COMP_WORDS[i]} == -v* || ${COMP_WORDS[i]} == --verbose ]]; do
    ((i++))
  done
  if ((i == COMP_CWORD)); then
    if [[ $cur == -* ]]; then
      _forkpool_reply -W "$_forkpool_global_options" -- "$cur"
    else
      _forkpool_reply -W 'run bench worker' -- "$cur"
    fi
    return
  fi
  case ${COMP_WORDS[i]} in
    run | bench) _forkpool_job "${COMP_WORDS[i]}" $((i + 1)) ;;
    worker) _forkpool_reply -W '--help' -- "$cur" ;;
  esac
}

complete -F _forkpool forkpool
