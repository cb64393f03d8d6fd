-- The demo ERP: a small, realistic slice of a trading company's database.
-- Portable SQL (SQLite, PostgreSQL, MariaDB). `erp-outbound demo-erp` runs it
-- statement by statement and then fills the tables.
--
-- Every outgoing document table carries the Procuros bookkeeping fields of
-- seed 001: status (empty = pending), error_url, attempts, last_error.

CREATE TABLE partners (
    id                  VARCHAR(32)  PRIMARY KEY,   -- ERP partner number, e.g. KU-1092
    kind                VARCHAR(16)  NOT NULL,      -- self | customer | supplier
    name                VARCHAR(200) NOT NULL,
    gln                 VARCHAR(13),
    vat_id              VARCHAR(20),
    duns                VARCHAR(9),
    street              VARCHAR(200),
    city                VARCHAR(100),
    postal_code         VARCHAR(16),
    country_code        VARCHAR(2),
    contact_first_name  VARCHAR(100),
    contact_last_name   VARCHAR(100),
    contact_email       VARCHAR(200),
    contact_phone       VARCHAR(50),
    contact_fax         VARCHAR(50),
    is_enabled          BOOLEAN      NOT NULL DEFAULT TRUE,
    via_procuros        BOOLEAN      NOT NULL DEFAULT FALSE
);

-- Additional parties of a partner: delivery, billing and payment addresses.
CREATE TABLE partner_addresses (
    id                  VARCHAR(40)  PRIMARY KEY,   -- e.g. KU-1092-S1
    partner_id          VARCHAR(32)  NOT NULL REFERENCES partners (id),
    role                VARCHAR(8)   NOT NULL,      -- shipTo | billTo | payTo
    name                VARCHAR(200) NOT NULL,
    gln                 VARCHAR(13),
    street              VARCHAR(200),
    city                VARCHAR(100),
    postal_code         VARCHAR(16),
    country_code        VARCHAR(2),
    contact_first_name  VARCHAR(100),
    contact_last_name   VARCHAR(100),
    contact_email       VARCHAR(200),
    contact_phone       VARCHAR(50)
);

CREATE TABLE products (
    id                  VARCHAR(32)  PRIMARY KEY,   -- SKU
    gtin                VARCHAR(14),
    description         VARCHAR(200) NOT NULL,
    unit_of_measure     VARCHAR(3)   NOT NULL,
    tax_rate            NUMERIC(5, 2) NOT NULL
);

-- ORDER: purchase orders we send to our suppliers.
CREATE TABLE purchase_orders (
    id                      INTEGER      PRIMARY KEY,
    order_number            VARCHAR(32)  NOT NULL,
    order_date              TIMESTAMP    NOT NULL,
    supplier_id             VARCHAR(32)  NOT NULL REFERENCES partners (id),
    ship_to_id              VARCHAR(40),
    currency                VARCHAR(3),
    requested_delivery_date DATE,
    comments                TEXT,
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE purchase_order_lines (
    order_id        INTEGER       NOT NULL REFERENCES purchase_orders (id),
    line_number     INTEGER       NOT NULL,
    product_id      VARCHAR(32)   NOT NULL REFERENCES products (id),
    quantity        NUMERIC(12, 3) NOT NULL,
    unit_price      NUMERIC(12, 4),
    PRIMARY KEY (order_id, line_number)
);

-- ORDER_RESPONSE: our confirmations of customers' orders.
CREATE TABLE order_responses (
    id                      INTEGER      PRIMARY KEY,
    response_number         VARCHAR(32)  NOT NULL,
    response_date           TIMESTAMP    NOT NULL,
    response_type           VARCHAR(8)   NOT NULL,   -- ACCEPT | CHANGE | REJECT
    customer_id             VARCHAR(32)  NOT NULL REFERENCES partners (id),
    customer_order_number   VARCHAR(32)  NOT NULL,
    customer_order_date     TIMESTAMP    NOT NULL,
    confirmed_delivery_date DATE,
    currency                VARCHAR(3),
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE order_response_lines (
    response_id         INTEGER       NOT NULL REFERENCES order_responses (id),
    line_number         INTEGER       NOT NULL,
    product_id          VARCHAR(32)   NOT NULL REFERENCES products (id),
    ordered_quantity    NUMERIC(12, 3) NOT NULL,
    confirmed_quantity  NUMERIC(12, 3) NOT NULL,
    unit_price          NUMERIC(12, 4),
    PRIMARY KEY (response_id, line_number)
);

-- SHIPPING_NOTICE: despatch advices for deliveries to customers.
CREATE TABLE shipping_notices (
    id                      INTEGER      PRIMARY KEY,
    notice_number           VARCHAR(32)  NOT NULL,
    notice_date             TIMESTAMP    NOT NULL,
    customer_id             VARCHAR(32)  NOT NULL REFERENCES partners (id),
    ship_to_id              VARCHAR(40),
    customer_order_number   VARCHAR(32)  NOT NULL,
    customer_order_date     TIMESTAMP,
    despatch_date           TIMESTAMP,
    expected_delivery_date  TIMESTAMP,
    carrier                 VARCHAR(100),
    tracking_number         VARCHAR(100),
    package_id              VARCHAR(40),             -- SSCC of the pallet / parcel
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE shipping_notice_lines (
    notice_id           INTEGER       NOT NULL REFERENCES shipping_notices (id),
    line_number         INTEGER       NOT NULL,
    product_id          VARCHAR(32)   NOT NULL REFERENCES products (id),
    ordered_quantity    NUMERIC(12, 3) NOT NULL,
    shipped_quantity    NUMERIC(12, 3) NOT NULL,
    batch_number        VARCHAR(40),
    PRIMARY KEY (notice_id, line_number)
);

-- INVOICE and CREDIT_NOTE: billing documents to customers.
CREATE TABLE invoices (
    id                      INTEGER      PRIMARY KEY,
    invoice_number          VARCHAR(32)  NOT NULL,
    invoice_date            TIMESTAMP    NOT NULL,
    due_date                DATE,
    customer_id             VARCHAR(32)  NOT NULL REFERENCES partners (id),
    customer_order_number   VARCHAR(32)  NOT NULL,
    customer_order_date     TIMESTAMP    NOT NULL,
    notice_number           VARCHAR(32)  NOT NULL,
    notice_date             TIMESTAMP    NOT NULL,
    currency                VARCHAR(3),
    payment_days            INTEGER,
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE invoice_lines (
    invoice_id      INTEGER       NOT NULL REFERENCES invoices (id),
    line_number     INTEGER       NOT NULL,
    product_id      VARCHAR(32)   NOT NULL REFERENCES products (id),
    quantity        NUMERIC(12, 3) NOT NULL,
    unit_price      NUMERIC(12, 4) NOT NULL,
    PRIMARY KEY (invoice_id, line_number)
);

CREATE TABLE credit_notes (
    id                      INTEGER      PRIMARY KEY,
    credit_note_number      VARCHAR(32)  NOT NULL,
    credit_note_date        TIMESTAMP    NOT NULL,
    customer_id             VARCHAR(32)  NOT NULL REFERENCES partners (id),
    invoice_number          VARCHAR(32),
    invoice_date            TIMESTAMP,
    reason                  VARCHAR(200),
    currency                VARCHAR(3),
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE credit_note_lines (
    credit_note_id  INTEGER       NOT NULL REFERENCES credit_notes (id),
    line_number     INTEGER       NOT NULL,
    product_id      VARCHAR(32)   NOT NULL REFERENCES products (id),
    quantity        NUMERIC(12, 3) NOT NULL,
    unit_price      NUMERIC(12, 4) NOT NULL,
    PRIMARY KEY (credit_note_id, line_number)
);

-- RamBase: purchase-order updates the ERP pushes into RamBase (seed 002).
-- rambase_status empty = update pending; SYNCED once RamBase answered 200.
CREATE TABLE rambase_po_updates (
    id                          INTEGER      PRIMARY KEY,
    purchase_order_id           INTEGER      NOT NULL,   -- RamBase purchaseOrderId (>= 100000)
    suppliers_reference         VARCHAR(100),
    suppliers_reference_number  VARCHAR(100),
    currency                    VARCHAR(3),
    note                        VARCHAR(4000),
    ship_to_attention           VARCHAR(200),
    location_id                 INTEGER,                 -- >= 10000
    assignee_user_id            INTEGER,                 -- >= 100
    supplier_id                 INTEGER,                 -- >= 100
    ship_from_address_id        INTEGER,                 -- >= 1
    delivery_terms              VARCHAR(3),              -- Incoterms 2020
    delivery_term_place         VARCHAR(100),
    shipping_service_id         INTEGER,                 -- >= 100000
    payment_terms               VARCHAR(20),
    rambase_status              VARCHAR(16),
    rambase_error               TEXT,
    rambase_error_id            VARCHAR(20),
    attempts                    INTEGER      NOT NULL DEFAULT 0,
    last_attempt_at             TIMESTAMP
);

-- RamBase: purchase order responses matched to a supplier invoice, to be forwarded with
-- API operation 100860 (seed 003). forward_status empty = pending; FORWARDED when done.
CREATE TABLE rambase_invoice_matches (
    id                          INTEGER      PRIMARY KEY,
    purchase_order_response_id  INTEGER      NOT NULL,   -- >= 100000
    supplier_invoice_id         INTEGER,                 -- >= 100000 once matched
    forward_status              VARCHAR(16),
    operation_instance_id       VARCHAR(40),             -- stored before polling: never POST twice
    operation_requested_at      TIMESTAMP,               -- set just before the POST
    rambase_error               TEXT,
    rambase_error_id            VARCHAR(20),
    attempts                    INTEGER      NOT NULL DEFAULT 0,
    last_attempt_at             TIMESTAMP
);

-- GEP SMART: the ERP's processing status of purchase order responses, to acknowledge
-- back to GEP (seed 004). ack_status empty = acknowledgement pending; ACKNOWLEDGED when done.
CREATE TABLE gep_por_statuses (
    id                          INTEGER      PRIMARY KEY,
    order_number                VARCHAR(40),             -- the GEP key
    processing_status           VARCHAR(40)  NOT NULL,   -- e.g. Processed | Failed
    comment                     VARCHAR(2000),           -- why processing failed, for GEP's user
    source_system_name          VARCHAR(100),
    source_system_value         VARCHAR(100),
    lob                         VARCHAR(100),
    error_code                  VARCHAR(40),
    ack_status                  VARCHAR(16),
    ack_errors                  TEXT,
    attempts                    INTEGER      NOT NULL DEFAULT 0,
    last_attempt_at             TIMESTAMP
);

-- The seven later Procuros types. Each outgoing table carries the same seed 001 fields.

-- RECEIVAL_NOTICE: goods we received from suppliers, reported back to them (EDI RECADV).
CREATE TABLE goods_receipts (
    id                      INTEGER      PRIMARY KEY,
    receipt_number          VARCHAR(32)  NOT NULL,
    receipt_date            TIMESTAMP    NOT NULL,
    supplier_id             VARCHAR(32)  NOT NULL REFERENCES partners (id),
    warehouse_id            VARCHAR(40)  NOT NULL,   -- our receiving warehouse (partner_addresses)
    purchase_order_number   VARCHAR(32),
    purchase_order_date     TIMESTAMP,
    delivery_note_number    VARCHAR(40),             -- the supplier's
    delivery_note_date      TIMESTAMP,
    package_id              VARCHAR(40),             -- SSCC of the received pallet
    package_type            VARCHAR(24),             -- EURO_PALLET | EURO_PALLET_HALF | CARTON ...
    comments                TEXT,
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE goods_receipt_lines (
    receipt_id          INTEGER       NOT NULL REFERENCES goods_receipts (id),
    line_number         INTEGER       NOT NULL,
    order_line_number   INTEGER,
    product_id          VARCHAR(32)   NOT NULL REFERENCES products (id),
    ordered_quantity    NUMERIC(12, 3),
    delivered_quantity  NUMERIC(12, 3),              -- as on the delivery note
    received_quantity   NUMERIC(12, 3) NOT NULL,
    rejected_quantity   NUMERIC(12, 3) NOT NULL DEFAULT 0,
    reject_reason       VARCHAR(200),
    batch_number        VARCHAR(40),
    best_before_date    DATE,
    PRIMARY KEY (receipt_id, line_number)
);

-- REMITTANCE_ADVICE: our payments to suppliers and the documents each settles (EDI REMADV).
CREATE TABLE payments (
    id                      INTEGER      PRIMARY KEY,
    advice_number           VARCHAR(32)  NOT NULL,
    advice_date             TIMESTAMP    NOT NULL,
    payment_date            DATE,
    supplier_id             VARCHAR(32)  NOT NULL REFERENCES partners (id),
    payee_id                VARCHAR(40),             -- the supplier's payee (partner_addresses ...-P1), else NULL
    payment_method          VARCHAR(40),
    bank_reference          VARCHAR(60),
    currency                VARCHAR(3),
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE payment_items (
    payment_id          INTEGER       NOT NULL REFERENCES payments (id),
    line_number         INTEGER       NOT NULL,
    document_number     VARCHAR(40),                 -- the supplier's invoice or credit note number
    document_date       TIMESTAMP,
    document_type       VARCHAR(16)   NOT NULL,      -- INVOICE | CREDIT_NOTE
    due_amount          NUMERIC(12, 2) NOT NULL,
    discount_amount     NUMERIC(12, 2) NOT NULL DEFAULT 0,
    discount_reason     VARCHAR(100),
    paid_amount         NUMERIC(12, 2) NOT NULL,
    PRIMARY KEY (payment_id, line_number)
);

-- SALES_REPORT: what we sold of a supplier's products, per location (EDI SLSRPT).
CREATE TABLE sales_reports (
    id                      INTEGER      PRIMARY KEY,
    report_number           VARCHAR(32)  NOT NULL,
    report_date             TIMESTAMP    NOT NULL,
    period_start            DATE         NOT NULL,
    period_end              DATE         NOT NULL,
    supplier_id             VARCHAR(32)  NOT NULL REFERENCES partners (id),
    currency                VARCHAR(3),
    comments                TEXT,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE sales_report_lines (
    report_id           INTEGER       NOT NULL REFERENCES sales_reports (id),
    line_number         INTEGER       NOT NULL,
    location_id         VARCHAR(40)   NOT NULL,      -- our selling location (partner_addresses)
    product_id          VARCHAR(32)   NOT NULL REFERENCES products (id),
    quantity            NUMERIC(12, 3) NOT NULL,     -- negative: returns exceeded sales
    unit_price          NUMERIC(12, 4),              -- our net selling price
    PRIMARY KEY (report_id, line_number)
);

-- PRODUCT_CATALOG: the articles and prices we offer a customer (EDI PRICAT). One row is one
-- catalog for one customer; catalog_number may repeat across customers.
CREATE TABLE product_catalogs (
    id                      INTEGER      PRIMARY KEY,
    catalog_number          VARCHAR(32),
    catalog_date            TIMESTAMP    NOT NULL,
    customer_id             VARCHAR(32)  NOT NULL REFERENCES partners (id),
    currency                VARCHAR(3),
    comments                TEXT,
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE product_catalog_items (
    catalog_id              INTEGER       NOT NULL REFERENCES product_catalogs (id),
    line_number             INTEGER       NOT NULL,
    product_id              VARCHAR(32)   NOT NULL REFERENCES products (id),
    customer_article_number VARCHAR(40),
    action                  VARCHAR(8)    NOT NULL,  -- NEW | CHANGED | DELETED
    pack_quantity           NUMERIC(12, 3) NOT NULL DEFAULT 1,
    is_orderable            BOOLEAN       NOT NULL DEFAULT TRUE,
    unit_price              NUMERIC(12, 4),
    price_valid_from        DATE,
    price_valid_until       DATE,
    recommended_retail_price NUMERIC(12, 2),
    minimum_order_quantity  NUMERIC(12, 3),
    PRIMARY KEY (catalog_id, line_number)
);

-- INVENTORY_REPORT: the stock we hold in our warehouses for fulfilment clients (EDI INVRPT).
CREATE TABLE stock_reports (
    id                      INTEGER      PRIMARY KEY,
    report_number           VARCHAR(32)  NOT NULL,
    report_date             TIMESTAMP    NOT NULL,
    warehouse_id            VARCHAR(40)  NOT NULL,   -- our warehouse (partner_addresses)
    owner_id                VARCHAR(32)  NOT NULL REFERENCES partners (id),
    comments                TEXT,
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE stock_report_lines (
    report_id           INTEGER       NOT NULL REFERENCES stock_reports (id),
    line_number         INTEGER       NOT NULL,
    product_id          VARCHAR(32)   NOT NULL REFERENCES products (id),
    available_quantity  NUMERIC(12, 3) NOT NULL,
    blocked_quantity    NUMERIC(12, 3) NOT NULL DEFAULT 0,
    inbound_quantity    NUMERIC(12, 3),
    batch_number        VARCHAR(40),
    best_before_date    DATE,
    PRIMARY KEY (report_id, line_number)
);

-- DISPATCH_INSTRUCTION: shipments we ask our fulfilment provider to make to our customers.
CREATE TABLE dispatch_instructions (
    id                      INTEGER      PRIMARY KEY,
    shipment_number         VARCHAR(32)  NOT NULL,
    instruction_date        TIMESTAMP    NOT NULL,
    logistics_partner_id    VARCHAR(32)  NOT NULL REFERENCES partners (id),  -- ships from its warehouse
    customer_id             VARCHAR(32)  NOT NULL REFERENCES partners (id),
    ship_to_id              VARCHAR(40),
    customer_order_number   VARCHAR(32),
    customer_order_date     TIMESTAMP,
    requested_delivery_date DATE,
    requested_despatch_date DATE,
    shipping_method         VARCHAR(40),
    delivery_notes          VARCHAR(500),
    currency                VARCHAR(3),
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE dispatch_instruction_lines (
    instruction_id      INTEGER       NOT NULL REFERENCES dispatch_instructions (id),
    line_number         INTEGER       NOT NULL,
    order_line_number   INTEGER,
    product_id          VARCHAR(32)   NOT NULL REFERENCES products (id),
    ordered_quantity    NUMERIC(12, 3) NOT NULL,
    quantity_to_ship    NUMERIC(12, 3) NOT NULL,
    unit_price          NUMERIC(12, 4),
    batch_number        VARCHAR(40),                 -- a batch the warehouse must ship, if any
    PRIMARY KEY (instruction_id, line_number)
);

-- DISPATCH_INSTRUCTION_RESPONSE: as a fulfilment provider, what we shipped on a client's instruction.
CREATE TABLE dispatch_confirmations (
    id                      INTEGER      PRIMARY KEY,
    shipment_number         VARCHAR(32)  NOT NULL,   -- the client's instruction (shipmentIdentifier)
    response_date           TIMESTAMP    NOT NULL,
    client_id               VARCHAR(32)  NOT NULL REFERENCES partners (id),  -- owner of the goods
    warehouse_id            VARCHAR(40)  NOT NULL,   -- our warehouse (partner_addresses)
    ship_to_id              VARCHAR(40),
    order_number            VARCHAR(32),
    order_date              TIMESTAMP,
    despatch_date           TIMESTAMP,
    expected_delivery_date  TIMESTAMP,
    carrier                 VARCHAR(100),
    tracking_number         VARCHAR(100),
    package_id              VARCHAR(40),             -- SSCC
    package_type            VARCHAR(24),
    version                 INTEGER      NOT NULL DEFAULT 1,
    status                  VARCHAR(16),
    error_url               VARCHAR(500),
    attempts                INTEGER      NOT NULL DEFAULT 0,
    last_error              TEXT,
    procuros_transaction_id VARCHAR(36),
    procuros_status         VARCHAR(16),  -- Procuros' own status, when asked after a lost answer
    last_attempt_at         TIMESTAMP
);
CREATE TABLE dispatch_confirmation_lines (
    confirmation_id         INTEGER       NOT NULL REFERENCES dispatch_confirmations (id),
    line_number             INTEGER       NOT NULL,
    instruction_line_number INTEGER,
    product_id              VARCHAR(32)   NOT NULL REFERENCES products (id),
    ordered_quantity        NUMERIC(12, 3) NOT NULL,
    shipped_quantity        NUMERIC(12, 3) NOT NULL,
    open_quantity_action    VARCHAR(16),             -- DISCARDED | DELIVERED_LATER when short
    batch_number            VARCHAR(40),
    best_before_date        DATE,
    PRIMARY KEY (confirmation_id, line_number)
);
