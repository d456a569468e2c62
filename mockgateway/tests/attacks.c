#include "attacks.h"

#include <string.h>

#include "wsclient.h"

#define PROPS "\"properties\":{\"os\":\"l\",\"browser\":\"b\",\"device\":\"d\"}"

const mg_bad_frame mg_bad_frames[] = {
    {"unmasked text", {0x81, 0x02, '{', '}'}, 4, 1002},
    {"RSV1 without an extension", {0xc1, 0x80, 1, 2, 3, 4}, 6, 1002},
    {"reserved opcode 3", {0x83, 0x80, 1, 2, 3, 4}, 6, 1002},
    {"reserved control opcode 0xb", {0x8b, 0x80, 1, 2, 3, 4}, 6, 1002},
    {"ping over 125 bytes", {0x89, 0xfe, 0x00, 0x7e, 1, 2, 3, 4}, 8, 1002},
    {"fragmented ping", {0x09, 0x80, 1, 2, 3, 4}, 6, 1002},
    {"16-bit length not minimal", {0x81, 0xfe, 0x00, 0x05, 1, 2, 3, 4}, 8, 1002},
    {"64-bit length not minimal", {0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4}, 14, 1002},
    {"64-bit length with the top bit", {0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, 14, 1002},
    {"continuation without a message", {0x80, 0x80, 1, 2, 3, 4}, 6, 1002},
    {"text inside a fragmented text", {0x01, 0x80, 1, 2, 3, 4, 0x81, 0x80, 1, 2, 3, 4}, 12, 1002},
    {"close with a 1-byte payload", {0x88, 0x81, 1, 2, 3, 4, 0x03 ^ 1}, 7, 1002},
    {"close with code 1005", {0x88, 0x82, 0, 0, 0, 0, 0x03, 0xed}, 8, 1002},
    {"close with code 5000", {0x88, 0x82, 0, 0, 0, 0, 0x13, 0x88}, 8, 1002},
    {"text that is not UTF-8", {0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28}, 8, 1007},
    {"close reason not UTF-8", {0x88, 0x83, 0, 0, 0, 0, 0x03, 0xe8, 0xff}, 9, 1007},
    {"message over 64 KiB", {0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4}, 14, 1009},
};
const size_t mg_nbad_frames = sizeof mg_bad_frames / sizeof *mg_bad_frames;

size_t mg_bad_frame_with_tail(const mg_bad_frame *bf, uint8_t *buf, size_t cap)
{
    static const char heartbeat[] = "{\"op\":1,\"d\":null}";
    memcpy(buf, bf->bytes, bf->len);
    size_t n = bf->len;
    while (n + sizeof heartbeat + 14 <= cap)
        n += tws_frame(buf + n, 0x81, heartbeat, sizeof heartbeat - 1, 1);
    return n;
}

const mg_bad_payload mg_bad_payloads[] = {
    {"not JSON", "{nope", 4002},
    {"bytes after the JSON", "{\"op\":1,\"d\":null} trailing", 4002},
    {"two JSON values", "{\"op\":1,\"d\":null}{\"op\":42}", 4002},
    {"a token holding U+0000", "{\"op\":2,\"d\":{\"token\":\"test-token\\u0000x\",\"intents\":1," PROPS "}}", 4002},
    {"no op", "{\"d\":null}", 4002},
    {"unknown op", "{\"op\":42,\"d\":null}", 4001},
    {"a command before IDENTIFY", "{\"op\":3,\"d\":{}}", 4003},
    {"a wrong token", "{\"op\":2,\"d\":{\"token\":\"wrong\",\"intents\":1," PROPS "}}", 4004},
    {"intents outside bits 0-25", "{\"op\":2,\"d\":{\"token\":\"test-token\",\"intents\":134217728," PROPS "}}", 4013},
};
const size_t mg_nbad_payloads = sizeof mg_bad_payloads / sizeof *mg_bad_payloads;
