"""The AWS adapter: Lambda handlers over the loop's steps, S3 run artifacts, secrets.

Powertools and boto3 (the `aws` extra) are imported only under this package.
"""
