"""The old design's subscriber.py, rebuilt: LPOP one message from the channel, start a Celery task
for it with push_data.delay(p, m), and again. The seed's loop runs forever; this one stops when
LPOP finds the channel empty (like `conveyor work --until-empty`), since the benchmark fills the
channel before it starts. It touches the channel only by LPOP: Celery's broker is another
database (CELERY_BROKER_URL) on the same redis-server.

    REDIS_URL=... CHANNEL_NAME=... CELERY_BROKER_URL=... TARGET_URL=... /usr/bin/python3 subscriber.py
"""
import json
import os

import redis as redis_client

from task import push_data


def main():
    redis = redis_client.Redis.from_url(os.environ["REDIS_URL"])
    channel = os.environ["CHANNEL_NAME"]
    popped = 0
    while True:
        message = redis.lpop(channel)
        if message is None:
            break
        message_dict = json.loads(message.decode("utf-8"))
        push_data.delay(message_dict["p"], message_dict["m"])
        popped += 1
    print("popped %d messages and started a task for each" % popped)


if __name__ == "__main__":
    main()
