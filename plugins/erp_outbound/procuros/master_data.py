"""EXPORT_CUSTOMERS / EXPORT_SUPPLIERS results: the ERP's trade partners for Procuros.

One entry per partner: systemIdentifier, isEnabled, mainParty, and additionalParties
(shipTo / billTo / payTo) nested with groupby; JSON text built column by column.
"""

from __future__ import annotations

import pandas as pd

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import id_text
from erp_outbound.procuros.transforms.common import party_texts

ROLES = ("shipTo", "billTo", "payTo")


def export_result(partners: pd.DataFrame, addresses: pd.DataFrame) -> str:
    """The ``result`` array (JSON text) for the partners (index or column ``party_id``)."""
    partners = partners.set_index(id_text(partners["party_id"]).rename(None))
    if partners.empty:
        return "[]"
    idx = partners.index
    main = party_texts(partners, internal_fallback=True)["json"]

    addresses = addresses.assign(party_id=id_text(addresses["party_id"]), partner_id=id_text(addresses["partner_id"]))
    addresses = addresses[addresses["role"].isin(ROLES) & addresses["partner_id"].isin(idx)].reset_index(drop=True)
    address_json = party_texts(addresses.set_index("party_id", drop=False).rename_axis(None),
                               internal_fallback=True)["json"].reset_index(drop=True)
    per_role = {
        role: J.nest(address_json[addresses["role"] == role],
                     addresses.loc[addresses["role"] == role, "partner_id"], idx)
        for role in ROLES
    }
    enabled = partners["is_enabled"].astype("boolean").fillna(False)
    entry = J.obj({
        "systemIdentifier": J.string(idx.to_series()),
        "isEnabled": J._text(enabled.map({True: "true", False: "false"})),
        "mainParty": main,
        "additionalParties": J.optional_obj(per_role, idx),
    }, idx)
    return "[" + ",".join(entry.tolist()) + "]"
