"""Domain errors of reconciliation: none. A difference is a finding in the report (and a metric), not an error;
a failure to read raises the reading capability's own error or the AWS error, and the run is retried by the
schedule (its dead-letter queue and the Lambda error alarm say so)."""
