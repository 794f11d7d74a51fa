// The one compiled copy of header-only Boost.JSON (Debian ships no library of it): the sweep
// report writes JSON with it, and any program that links forkpool::sweep uses this copy with
// <boost/json.hpp> alone. A second #include <boost/json/src.hpp> in the same program would
// define every symbol twice.
#include <boost/json/src.hpp>
