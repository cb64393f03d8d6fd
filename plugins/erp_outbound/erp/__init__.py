"""The ERP side: the ERP connection, the user's SQL, claims, the verdict journal and write-back."""
