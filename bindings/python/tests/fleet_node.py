"""One fleet node in a process of its own, for test_fleet.py: an rtms.Fleet bot that joins what it
is assigned and reports on standard output, one JSON object a line:

    {"ready": PORT, "node": ID}
    {"assigned": STREAM, "generation": N, "previous_owner": ID or null}
    {"joined": STREAM, "reason": R}
    {"audio": STREAM, "n": COUNT}          the first audio message, then every 50th
    {"left": STREAM, "reason": R}
    {"revoked": STREAM, "generation": N, "reason": TEXT}

    python fleet_node.py DATABASE_URL NODE_ID WEBHOOK_SECRET MAX_STREAMS
SIGTERM: the node leaves the fleet (its streams are handed back) and exits 0.
"""

import json
import signal
import sys

import rtms


def say(**o):
    sys.stdout.write(json.dumps(o) + "\n")
    sys.stdout.flush()


def main():
    url, node, secret, max_streams = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    fleet = rtms.Fleet(database_url=url, node_id=node, host="127.0.0.1", port=0, path="/zoom", webhook_secret=secret,
                       max_streams=max_streams, lease_ms=3000, renew_ms=500, lease_margin_ms=1000)
    signal.signal(signal.SIGTERM, lambda *_: fleet.stop())

    @fleet.on_stream
    def handle(client, stream):
        say(assigned=stream.stream_id, generation=stream.generation, previous_owner=stream.previous_owner)
        count = [0]

        @client.on_audio_data
        def on_audio(data, size, timestamp, metadata):
            count[0] += 1
            if count[0] == 1 or count[0] % 50 == 0:
                say(audio=stream.stream_id, n=count[0])

        client.on_join_confirm(lambda reason: say(joined=stream.stream_id, reason=reason))
        client.on_leave(lambda reason: say(left=stream.stream_id, reason=reason))

    @fleet.on_revoked
    def revoked(stream, reason):
        say(revoked=stream.stream_id, generation=stream.generation, reason=reason)

    say(ready=fleet.port, node=node)
    fleet.run()
    fleet.close()


if __name__ == "__main__":
    main()
