"""A tiny in-process event bus: handlers subscribe callbacks to topics."""

_listeners = {}


def subscribe(topic, callback):
    _listeners.setdefault(topic, []).append(callback)


def unsubscribe(topic, callback):
    lst = _listeners.get(topic, [])
    if callback in lst:
        lst.remove(callback)


def publish(topic, value):
    for cb in list(_listeners.get(topic, [])):
        cb(value)
