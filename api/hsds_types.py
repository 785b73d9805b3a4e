"""Response types of the /hsds API (placeholder: typed in the OpenAPI step)."""
from typing import Any

ApiMeta = Publisher = ProfileIndex = Service = Organization = ServiceAtLocation = Taxonomy = TaxonomyTerm = \
    dict[str, Any]
ServicePage = OrganizationPage = ServiceAtLocationPage = TaxonomyPage = TaxonomyTermPage = \
    dict[str, Any]
