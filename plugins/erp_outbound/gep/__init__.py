"""GEP SMART: acknowledging the ERP's processing status of documents (SmartInterfaceAPI)."""
