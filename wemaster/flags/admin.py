from django.contrib import admin
from waffle.admin import FlagAdmin

from wemaster.flags.models import Flag

# waffle registers its switch and sample admins itself; its flag admin, as it comes, on our flag.
admin.site.register(Flag, FlagAdmin)
