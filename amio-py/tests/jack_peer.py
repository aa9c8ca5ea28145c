"""An independent JACK client for amio's Python tests.

Runs under Debian's own python3 with python3-jack-client (not amio's
environment): it plays the generator signal on its output ports (channel c
at JACK frame time t plays ``(t mod 2**20) * 8 + c``, exact in float32, so
each captured sample says which frame it was) and records its input ports.

    python3 jack_peer.py SERVER NAME --record-from A,B --generate-to C,D
        --frames N --out FILE

It writes FILE.ready once its ports are connected and it records, and FILE
when N frames are recorded: a JSON line (first_frame_time, channels,
frames) then the samples, interleaved little-endian float32.
"""

import argparse
import array
import json
import sys
import threading
import time

import jack


def generator_sample(frame_time: int, channel: int) -> float:
    return float((frame_time % (1 << 20)) * 8 + channel)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("server")
    parser.add_argument("name")
    parser.add_argument("--record-from", default="")
    parser.add_argument("--generate-to", default="")
    parser.add_argument("--frames", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    sources = [s for s in args.record_from.split(",") if s]
    destinations = [d for d in args.generate_to.split(",") if d]

    client = jack.Client(args.name, servername=args.server, no_start_server=True)
    inputs = [client.inports.register(f"in_{i + 1}") for i in range(len(sources))]
    outputs = [client.outports.register(f"out_{i + 1}") for i in range(len(destinations))]
    tape = [array.array("f") for _ in inputs]
    state = {"recording": False, "first": None}
    done = threading.Event()

    @client.set_process_callback
    def process(frames: int) -> None:
        t = client.last_frame_time
        for ch, port in enumerate(outputs):
            buf = memoryview(port.get_buffer()).cast("B").cast("f")
            for i in range(frames):
                buf[i] = generator_sample(t + i, ch)
        if state["recording"] and not done.is_set():
            if state["first"] is None:
                state["first"] = t
            for ch, port in enumerate(inputs):
                tape[ch].frombytes(bytes(port.get_buffer()))
            if inputs and len(tape[0]) >= args.frames:
                done.set()

    client.activate()
    for source, port in zip(sources, inputs):
        client.connect(source, port)
    for port, destination in zip(outputs, destinations):
        client.connect(port, destination)
    state["recording"] = True
    with open(args.out + ".ready", "w") as f:
        f.write("ready\n")
    if not inputs:
        # A generator only: play until killed or timed out.
        time.sleep(args.timeout)
        client.deactivate()
        client.close()
        return 0
    if not done.wait(args.timeout):
        print(f"recorded only {len(tape[0])} of {args.frames} frames", file=sys.stderr)
        return 1
    client.deactivate()
    client.close()
    frames = min(len(t) for t in tape)
    interleaved = array.array("f", bytes(4 * frames * len(tape)))
    for ch, t in enumerate(tape):
        interleaved[ch :: len(tape)] = t[:frames]
    with open(args.out, "wb") as f:
        header = {"first_frame_time": state["first"], "channels": len(tape), "frames": frames}
        f.write((json.dumps(header) + "\n").encode())
        f.write(interleaved.tobytes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
