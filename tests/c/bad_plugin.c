/* A driver plugin built for another ABI version: libamio must refuse it
 * with AMIO_ERROR_PLUGIN and a message naming the versions, and never call
 * into it. Built by the test suite as libamio_badabi.so. */
#include <stddef.h>
#include <stdint.h>

struct table {
    uint32_t abi_version;
    uint32_t size;
    const char *backend;
    void *functions[6];
};

static const struct table TABLE = {999, sizeof(struct table), "badabi", {0}};

const struct table *amio_plugin_badabi(void) { return &TABLE; }
