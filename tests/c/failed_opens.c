/* A C host that fails to open a stream 100 times on every backend (a
 * device that does not exist, a JACK server that is not running, options
 * that are wrong): run under valgrind with leak checking, nothing may be
 * lost. Each failure's status tells its kind. Exits 0 on success. */
#include <amio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

struct attempt {
    const char *backend;
    const char *options;
    const char *device;
    amio_status expected;
};

int main(void) {
    const struct attempt attempts[] = {
        {"alsa", "playback=amio_no_such_pcm\ncapture=amio_no_such_pcm", NULL, AMIO_ERROR_NO_DEVICE},
        {"jack", "server=amio-no-such-server", NULL, AMIO_ERROR_NO_SERVER},
        {"cpal", "host=alsa\noutput=amio_no_such_device\ninput=amio_no_such_device", NULL, AMIO_ERROR_NO_DEVICE},
        {"null", "mode=sideways", NULL, AMIO_ERROR_CONFIG},
        {"null", NULL, "not-null", AMIO_ERROR_NO_DEVICE},
        {"nonesuch", NULL, NULL, AMIO_ERROR_UNKNOWN_BACKEND},
    };
    for (size_t a = 0; a < sizeof attempts / sizeof attempts[0]; a++) {
        for (int i = 0; i < 100; i++) {
            amio_stream_config cfg;
            CHECK(amio_stream_config_init(&cfg));
            cfg.options = attempts[a].options;
            cfg.device = attempts[a].device;
            amio_stream *st = NULL;
            amio_status s = amio_stream_open(attempts[a].backend, &cfg, &st);
            if (s != attempts[a].expected) {
                fprintf(stderr, "%s: got %s, expected %s: %s\n", attempts[a].backend, amio_status_name(s),
                        amio_status_name(attempts[a].expected), amio_last_error());
                return 1;
            }
            EXPECT(st == NULL);
        }
        printf("%s: 100 failed opens (%s)\n", attempts[a].backend, amio_last_error());
    }
    return 0;
}
