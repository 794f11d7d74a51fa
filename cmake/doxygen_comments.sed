# Doxygen's INPUT_FILTER for the public headers: the house writes its contracts as plain //
# comments; this lets Doxygen read them as documentation without changing the headers.
#   a comment line before a declaration documents that declaration;
s|^\([[:space:]]*\)//\([^/]\)|\1///\2|
s|^\([[:space:]]*\)//$|\1///|
#   a comment after a member or an enumerator, on its line, documents that member.
s|\([;,]\)\([[:space:]]*\)//\([^/]\)|\1\2///<\3|
