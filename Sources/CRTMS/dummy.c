/* The C target only carries the public headers (include/) into Swift; it has no code. */
#include "../../include/openrtms.h"
