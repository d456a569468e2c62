/* event_get.c - reading fields of an event's "d" by path, without a tree:
 * the public face of json.c's path walk. dgw_value_type has the numbers of
 * dgw_json_type, so results pass through unchanged. */
#include "dgw.h"
#include "json.h"

_Static_assert((int)DGW_VALUE_NONE == (int)DGW_JSON_INVALID &&
                   (int)DGW_VALUE_NULL == (int)DGW_JSON_NULL &&
                   (int)DGW_VALUE_STRING == (int)DGW_JSON_STRING,
               "dgw_value_type mirrors dgw_json_type");

static bool has_data(const dgw_event *ev)
{
    return ev && ev->data && ev->data_len > 0;
}

dgw_value_type dgw_event_get(const dgw_event *ev, const char *path,
                             dgw_slice *out)
{
    dgw_span v = {0};
    dgw_json_type t = has_data(ev) && path
                          ? dgw_json_path((dgw_span){ev->data, ev->data_len},
                                          path, &v)
                          : DGW_JSON_INVALID;
    if (out)
        *out = (dgw_slice){v.p, t == DGW_JSON_INVALID ? 0 : v.n};
    return (dgw_value_type)t;
}

size_t dgw_event_get_many(const dgw_event *ev, const char *const *paths,
                          size_t n, dgw_slice *out, dgw_value_type *types)
{
    if (!out || !types || (n && !paths))
        return 0;
    dgw_span spans[DGW_JSON_PATHS_MAX];
    dgw_json_type jt[DGW_JSON_PATHS_MAX];
    size_t k = n < DGW_JSON_PATHS_MAX ? n : DGW_JSON_PATHS_MAX;
    size_t found = 0;
    if (has_data(ev))
        found = dgw_json_paths((dgw_span){ev->data, ev->data_len}, paths, k,
                               spans, jt);
    for (size_t i = 0; i < n; i++) {
        bool hit = i < k && has_data(ev) && jt[i] != DGW_JSON_INVALID;
        types[i] = hit ? (dgw_value_type)jt[i] : DGW_VALUE_NONE;
        out[i] = hit ? (dgw_slice){spans[i].p, spans[i].n} : (dgw_slice){0};
    }
    return found;
}

long dgw_slice_string(dgw_slice s, char *buf, size_t cap)
{
    if (!s.p || s.n < 2 || s.p[0] != '"' || !buf || cap == 0)
        return -1;
    return dgw_json_unescape((dgw_span){s.p, s.n}, buf, cap);
}
