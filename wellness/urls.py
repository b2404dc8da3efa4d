from django.urls import path

from wellness import views

urlpatterns = [
    path("wellness/", views.wellness_today, name="wellness_today"),
    path("wellness/day/<str:day>/", views.wellness_day_save, name="wellness_day_save"),
    path("wellness/quick/", views.wellness_quick_entry, name="wellness_quick_entry"),
    path("wellness/settings/", views.wellness_settings, name="wellness_settings"),
    path("wellness/habits/", views.wellness_habits, name="wellness_habits"),
    path("wellness/habits/<uuid:habit_id>/archive/", views.wellness_habit_archive, name="wellness_habit_archive"),
    path("wellness/plan/", views.wellness_plan, name="wellness_plan"),
    path("wellness/plan/tasks/", views.wellness_task_add, name="wellness_task_add"),
    path("wellness/plan/tasks/<uuid:task_id>/toggle/", views.wellness_task_toggle, name="wellness_task_toggle"),
    path("wellness/plan/carry-over/", views.wellness_carry_over, name="wellness_carry_over"),
    path("wellness/plan/review/", views.wellness_review_save, name="wellness_review_save"),
]
