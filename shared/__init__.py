"""Common code of every Lambda function, shipped as the ``SharedLayer``.

Layering (imports only go downwards):

    functions/*/app.py   (handlers: routing, validation, one service call)
        -> shared.<capability>.service   (business rules; depends on interfaces)
        -> shared.<capability>.repository (one class per DynamoDB table; the only boto3 users)
        -> shared.aws                     (clients created once per container)
"""
