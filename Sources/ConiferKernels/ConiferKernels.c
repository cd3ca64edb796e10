// The header is the whole module (inline functions); SwiftPM needs one source file per C target.
#include "ConiferKernels.h"
