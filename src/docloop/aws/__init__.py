"""docloop on AWS: DynamoDB/S3 stores (store = "dynamodb") and the Lambda adapters.

The stores are built by the registry; the Lambda handlers (`handlers`) run the loop's
steps with S3 run artifacts (`artifacts`) and the Secrets Manager secret (`secrets`).
boto3 and Powertools (the `aws` extra) are imported only inside this package, and
only when used, so the CLI works without the `aws` extra.
"""
