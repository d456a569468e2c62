/* zalloc.h - zlib's allocation hooks on a connection's dgw_mem.
 *
 * zlib frees without a size and dgw_allocator wants one, so each block
 * carries its size in a header. Set z_stream's zalloc/zfree to these and
 * opaque to the dgw_mem. (decompress.c has its own copy of the same shim,
 * shared with zstd; it can move onto this file.) */
#ifndef DGW_ZALLOC_H
#define DGW_ZALLOC_H

#include <zlib.h>

#include "mem.h"

voidpf dgw_zalloc(voidpf mem, uInt items, uInt size);
void dgw_zfree(voidpf mem, voidpf p);

#endif
