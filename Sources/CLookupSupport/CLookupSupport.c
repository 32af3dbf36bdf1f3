// Intentionally empty: CLookupSupport is a header of static inline helpers.
#include "CLookupSupport.h"
