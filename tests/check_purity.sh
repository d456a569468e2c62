#!/bin/sh
# check_purity.sh LIBDGW_A - "No clock, socket, thread or stdio call anywhere
# in lib/" (dgw.h): fails if any object of the static library references a
# function that reads a clock, does I/O, starts or syncs threads, prints,
# sleeps, or gets randomness behind the caller's back. malloc/calloc/
# realloc/free are allowed only in mem.c (the default allocator); every
# other allocation must go through the connection's dgw_allocator.
set -u
lib=${1:?usage: check_purity.sh path/to/libdgw.a}
NM=${NM:-nm}
[ -r "$lib" ] || { echo "cannot read $lib" >&2; exit 2; }

# Undefined symbols, one "object symbol" line each (symbol versions cut).
undef=$("$NM" -A -u "$lib" 2>/dev/null | sed -n 's/^[^:]*:\([^:]*\):[[:space:]]*U[[:space:]]\{1,\}\([^@[:space:]]*\).*/\1 \2/p')
if [ -z "$undef" ]; then
    echo "nm found no undefined symbols in $lib: cannot judge" >&2
    exit 2
fi
nobj=$("$NM" -A -u "$lib" 2>/dev/null | cut -d: -f2 | sort -u | wc -l)
if [ "$nobj" -lt 5 ]; then
    echo "only $nobj objects in $lib: is it the right library?" >&2
    exit 2
fi

forbidden='
time clock clock_gettime clock_getres gettimeofday timespec_get ftime
sleep usleep nanosleep clock_nanosleep alarm setitimer timer_create
socket connect bind listen accept accept4 send sendto sendmsg recv recvfrom
recvmsg shutdown getaddrinfo gethostbyname select poll ppoll epoll_wait
epoll_create epoll_create1 epoll_ctl
open open64 openat creat close read write readv writev pread pwrite
fopen fopen64 fdopen freopen fclose fread fwrite fflush fgets fputs fputc
putc putchar puts getchar getc fgetc perror
printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf dprintf
vdprintf asprintf vasprintf
__printf_chk __fprintf_chk __sprintf_chk __snprintf_chk __vprintf_chk
__vfprintf_chk __vsprintf_chk __vsnprintf_chk __dprintf_chk
stdout stderr stdin
fork vfork execve system popen signal sigaction raise kill exit _exit abort
rand srand random srandom drand48 getrandom getentropy arc4random
getenv setenv syslog
dlopen dlsym
'
alloc='malloc calloc realloc reallocarray free aligned_alloc posix_memalign memalign valloc strdup strndup'

bad=0
while read -r obj sym; do
    case "$sym" in
    pthread_*|thrd_*|mtx_*|cnd_*|sem_*|__pthread_*)
        echo "$obj: thread call $sym"; bad=1; continue ;;
    esac
    for f in $forbidden; do
        if [ "$sym" = "$f" ]; then
            echo "$obj: forbidden call $sym"; bad=1
        fi
    done
    for f in $alloc; do
        if [ "$sym" = "$f" ]; then
            case "$obj" in
            *mem.c.o|mem.o) ;;
            *) echo "$obj: $sym outside mem.c (use the connection's allocator)"; bad=1 ;;
            esac
        fi
    done
done <<EOT
$undef
EOT

if [ $bad -ne 0 ]; then
    echo "FAIL: lib/ must not read clocks, do I/O, use threads or print"
    exit 1
fi
echo "OK: $(echo "$undef" | wc -l) undefined references in $nobj objects, none forbidden"
exit 0
