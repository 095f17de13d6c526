from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "fmis.projects"
    label = "projects"
    verbose_name = "项目库"

    def ready(self):
        from django.db.models.signals import post_migrate
        from django.urls import reverse
        from django.utils.translation import gettext_lazy

        from fmis.platform.workflow.registry import register_document_type
        from fmis.projects import functions as fn
        from fmis.projects import services
        from fmis.projects.models import Project

        register_document_type(
            services.DOC_PROJECT, gettext_lazy("项目申报"), Project,
            title=lambda p: f"{p.code} {p.name}",
            url=lambda p: reverse("projects:detail", args=[p.pk]),
            view_function=fn.VIEW, submit_function=fn.SUBMIT,
            default_steps=services.DEFAULT_STEPS,
            callback=services.on_project_review,
            prepare=services.lock_for_review,
            is_final=lambda p: p.status not in (Project.Status.DRAFT, Project.Status.RETURNED,
                                                Project.Status.SUBMITTED),
        )
        # the category tree is reference data: back after a test database is flushed, too
        post_migrate.connect(_load_categories, sender=self)


def _load_categories(sender, **kwargs) -> None:
    from fmis.projects.categories import ensure_categories

    ensure_categories()
