"""Domain events: what happened to a Space, told after the write that made it happen committed.

A use case publishes one (`deps.publish(SpaceEnded(...))`) and the dispatcher
(chalicelib/services/dispatch.py) hands it to every reaction registered for its type: recording,
room events, overflow, reminders, refunds, media release. The use case does not know who
reacts, and the reactions do not import the use case.

Plain frozen Structs (msgspec) with no AWS knowledge: the values a reaction needs, nothing more.

One module per area, so a use case loads only the events it publishes: `lifecycle.py` (a Space
created, edited, started, ended or canceled; the live counts), `stage.py` (speakers added and
removed, a block while live) and `counted.py` (what host analytics count). Which reactions each
event has is `services/dispatch.py`'s table, which names every event.
"""
