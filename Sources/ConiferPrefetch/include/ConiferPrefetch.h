// A cache prefetch hint for the graph search, which Swift has no spelling for. Search walks memory in an
// order the hardware cannot predict (a node's neighbours' vectors); asking for the next vectors while the
// current distance is computed hides most of the misses, as hnswlib does with _mm_prefetch.
#ifndef CONIFER_PREFETCH_H
#define CONIFER_PREFETCH_H

static inline void conifer_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
