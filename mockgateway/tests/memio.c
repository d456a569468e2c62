#include "memio.h"

#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>

#include "conn.h"

static long mem_recv(mg_conn *c, void *buf, size_t len)
{
    mg_memio *m = c->io_arg;
    size_t avail = mg_buf_avail(&m->in);
    if (avail == 0)
        return m->eof ? MG_IO_EOF : MG_IO_AGAIN;
    size_t n = avail < len ? avail : len;
    if (m->chunk && n > m->chunk)
        n = m->chunk;
    memcpy(buf, mg_buf_head(&m->in), n);
    mg_buf_consume(&m->in, n);
    return (long)n;
}

static long mem_send(mg_conn *c, const void *buf, size_t len)
{
    mg_memio *m = c->io_arg;
    if (m->room == 0)
        return MG_IO_AGAIN;
    size_t n = len < m->room ? len : m->room;
    if (mg_buf_append(&m->out, buf, n) != 0)
        return MG_IO_ERROR;
    if (m->room != SIZE_MAX)
        m->room -= n;
    return (long)n;
}

static void mem_shutdown_write(mg_conn *c) { ((mg_memio *)c->io_arg)->shut_write = 1; }
static void mem_close(mg_conn *c) { ((mg_memio *)c->io_arg)->closed = 1; }

const mg_conn_io mg_memio_ops = {mem_recv, mem_send, mem_shutdown_write, mem_close};

mg_conn *mg_memio_connect(mg_server *s, mg_memio *m)
{
    return mg_server_add_conn(s, -1, &mg_memio_ops, m, "memory");
}

void mg_memio_push(mg_conn *c, const void *p, size_t n)
{
    mg_memio *m = c->io_arg;
    mg_buf_append(&m->in, p, n);
    mg_conn_on_event(c, EPOLLIN);
}

void mg_memio_free(mg_memio *m)
{
    mg_buf_free(&m->in);
    mg_buf_free(&m->out);
}
