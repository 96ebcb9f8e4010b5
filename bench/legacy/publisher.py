"""The old design's publisher.py, rebuilt: one RPUSH per message, in a plain loop without sleep(),
as the legacy systems that feed the channel do. Messages are shaped as the seed's
(json.dumps(dict(p=phone_number, m=message, i=i))) and as `conveyor publish` generates them.

    REDIS_URL=redis://127.0.0.1:6379/0 CHANNEL_NAME=shipments /usr/bin/python3 publisher.py COUNT
"""
import json
import os
import sys

import redis as redis_client


def main():
    count = int(sys.argv[1])
    redis = redis_client.Redis.from_url(os.environ["REDIS_URL"])
    channel = os.environ["CHANNEL_NAME"]
    for i in range(count):
        phone_number = "+55119%08d" % (i % 100_000_000)
        message = "Your shipment %d is on its way" % i
        redis.rpush(channel, json.dumps(dict(p=phone_number, m=message, i=i)))
    print("published %d messages to %s" % (count, channel))


if __name__ == "__main__":
    main()
