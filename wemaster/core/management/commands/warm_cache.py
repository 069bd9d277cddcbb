"""`manage.py warm_cache [--only family,...]`: fill the cache before traffic arrives."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from wemaster.core.cache.warming import discover_warmers, warm


class Command(BaseCommand):
    help = "Warm the cache families discovered in each installed app's warmers.py."

    def add_arguments(self, parser):
        parser.add_argument("--only", default="", help="Comma-separated families to warm (default: all).")
        parser.add_argument("--list", action="store_true", help="List the known families and exit.")

    def handle(self, *args, only: str, list: bool, **options):
        if list:
            for family in discover_warmers():
                self.stdout.write(family)
            return
        families = [family.strip() for family in only.split(",") if family.strip()] or None
        try:
            warmed = warm(families, progress=lambda items, **kw: tqdm(items, file=self.stderr, **kw))
        except KeyError as exc:
            raise CommandError(f"unknown cache families: {exc.args[0]}") from exc
        for family, count in warmed.items():
            self.stdout.write(f"{family}: {count} entries")
