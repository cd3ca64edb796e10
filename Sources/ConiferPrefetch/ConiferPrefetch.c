// The header is the whole module (an inline function); SwiftPM needs one source file per C target.
#include "ConiferPrefetch.h"
