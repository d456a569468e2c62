# Sourced by the bench scripts. mg_url FILE: the mock gateway's URL, the
# first line it prints on stdout (redirected to FILE); waits up to 10 s,
# echoes nothing if it never came.
mg_url() {
    local url= _
    for _ in $(seq 200); do
        url=$(head -n1 "$1")
        [ -n "$url" ] && break
        sleep 0.05
    done
    echo "$url"
}
