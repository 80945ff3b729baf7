"""The standard mapping set, the catalogue of known fields, and mapping files.

``standard_mappings()`` is BC's default Dataverse setup in BC API v2.0 terms;
``reset_to_defaults()`` returns the same. ``export_mappings``/``import_mappings`` write and read
mapping files; import refuses unsound files with a ``MappingError`` listing every problem.
``check_mappings`` applies the same catalogue and reference checks to a set from elsewhere.
"""

from __future__ import annotations

from sync.mappings.catalog import BC_ENTITIES, DATAVERSE_TABLES, CatalogField, Catalogue, FieldType
from sync.mappings.conformance import check_mappings
from sync.mappings.mapping_file import FORMAT, VERSION, export_mappings, import_mappings
from sync.mappings.standard import Ownership, reset_to_defaults, standard_mappings

__all__ = [
    "BC_ENTITIES",
    "DATAVERSE_TABLES",
    "FORMAT",
    "VERSION",
    "CatalogField",
    "Catalogue",
    "FieldType",
    "Ownership",
    "check_mappings",
    "export_mappings",
    "import_mappings",
    "reset_to_defaults",
    "standard_mappings",
]
