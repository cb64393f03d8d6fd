"""What every vendor pipeline shares: verdicts, the delivery loop, staging and the run report."""
