#include "zalloc.h"

#include <stdint.h>

typedef union { size_t size; max_align_t align; } sized_hdr;

voidpf dgw_zalloc(voidpf mem, uInt items, uInt size)
{
    if (size && items > (SIZE_MAX - sizeof(sized_hdr)) / size)
        return Z_NULL;
    size_t n = (size_t)items * size + sizeof(sized_hdr);
    sized_hdr *h = dgw_mem_alloc(mem, n);
    if (!h)
        return Z_NULL;
    h->size = n;
    return h + 1;
}

void dgw_zfree(voidpf mem, voidpf p)
{
    if (!p)
        return;
    sized_hdr *h = (sized_hdr *)p - 1;
    dgw_mem_free(mem, h, h->size);
}
