"""The embedded local AWS stack, built entirely from ``template.yaml``.

One harness shared by ``make run`` and the tests:

* ``template``  - reads template.yaml and resolves intrinsics (!Ref, !GetAtt, !Sub ...)
* ``emulator``  - moto server on loopback, serialized, Step Functions executing,
                  Lambda tasks wired to the real handlers in-process
* ``provision`` - tables (key schemas, GSIs, TTL), buckets, queues, buses, state machines
* ``functions`` - imports each handler under its own template environment, invokes it
* ``gateway``   - REST API Gateway emulation on 127.0.0.1:3000 (+ /local/token, /swagger)
* ``stack``     - ``LocalStack``: all of the above, as a context manager

Run it: ``python -m local_stack run`` (``make run``).
"""

from local_stack.stack import LocalStack

__all__ = ["LocalStack"]
