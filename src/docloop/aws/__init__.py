"""docloop on AWS: DynamoDB/S3 stores (store = "dynamodb") and the Lambda adapters.

boto3 is imported only inside this package, and only when the registry
builds one of its classes, so the CLI works without the `aws` extra.
"""
