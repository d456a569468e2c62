/* event_json.c - the optional tree parse of an event's "d". Kept apart so
 * the receive path never touches cJSON. */
#include <cjson/cJSON.h>

#include "dgw.h"

void *dgw_event_parse_data(const dgw_event *ev)
{
    if (!ev || !ev->data || ev->data_len == 0)
        return NULL;
    return cJSON_ParseWithLength(ev->data, ev->data_len);
}
