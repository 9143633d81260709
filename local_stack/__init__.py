"""The embedded local AWS stack, built entirely from ``template.yaml``.

One harness shared by ``make run`` and the tests:

* ``template``  - reads template.yaml and resolves intrinsics (!Ref, !GetAtt, !Sub ...)
* ``emulator``  - moto server on loopback, serialized, Step Functions executing,
                  Lambda tasks wired to the real handlers in-process
* ``provision`` - tables (key schemas, GSIs, TTL), buckets, queues, buses, state machines
* ``functions`` - imports each handler under its own template environment, invokes it
* ``gateway``   - REST API Gateway emulation on 127.0.0.1:3000 (+ /local/token, /swagger)
* ``async_lambda`` - Lambda's asynchronous invocation queue: retries, OnFailure destinations, DLQs
* ``schedules`` - the template's Schedule/ScheduleV2 events (and scheduled rules) fire on a clock
* ``rules``     - EventBridge rules with Lambda targets deliver ``put_events`` to their functions
* ``streams``   - DynamoDB Streams event source mappings (batching, partial failures, bisect, OnFailure)
* ``destinations`` - SQS/SNS/EventBridge/Lambda destinations for everything that fails over
* ``s3_post_policy`` - S3 POST policies enforced on form uploads (WSGI middleware before moto)
* ``log_context`` - per-container Powertools logger keys (each invocation logs its own ids)
* ``stack``     - ``LocalStack``: all of the above, as a context manager

Run it: ``python -m local_stack run`` (``make run``).
"""

from local_stack.stack import LocalStack

__all__ = ["LocalStack"]
