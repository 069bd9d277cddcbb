"""The staff admin site: WeMaster branding, "View site" opens the API docs, and the operations
page (what waits for staff, and the state of the money machinery). Installed as the default
site (wemaster.core.apps.StaffAdminConfig), so every app's `@admin.register` lands here."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path, reverse_lazy

from wemaster.core.operations import operations_overview


class StaffAdminSite(admin.AdminSite):
    site_header = "WeMaster staff"
    site_title = "WeMaster staff"
    site_url = reverse_lazy("swagger-ui")
    index_template = "admin/wemaster_index.html"

    def get_urls(self):
        operations = path("operations/", self.admin_view(self.operations_view), name="operations")
        return [operations, *super().get_urls()]

    def operations_view(self, request):
        """Staff only (admin_view): refunds to decide, payouts failed or stuck, payment intents
        unresolved, the last reconcile and the cache breaker."""
        context = {
            **self.each_context(request),
            "title": "Operations",
            "operations": operations_overview(),
        }
        return TemplateResponse(request, "admin/operations.html", context)
