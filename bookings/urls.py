from django.urls import path

from . import views

urlpatterns = [
    path("help/bookings/", views.my_bookings, name="bookings-help"),
    path("help/bookings/answer/<str:token>/", views.answer_by_link, name="bookings-answer"),
    path("help/bookings/<int:pk>/", views.my_booking, name="bookings-help-booking"),
    path(
        "help/bookings/<int:pk>/<slug:step>/", views.my_booking_action, name="bookings-help-action"
    ),
    path("help/jobs/", views.my_jobs, name="bookings-jobs"),
    path("help/jobs/<int:pk>/", views.my_job, name="bookings-job"),
    path("help/jobs/<int:pk>/<slug:step>/", views.my_job_action, name="bookings-job-action"),
    path("desk/bookings/", views.desk_queue, name="bookings-desk"),
    path("desk/bookings/new/", views.desk_new_booking, name="bookings-desk-new"),
    path("desk/bookings/<int:pk>/", views.desk_booking, name="bookings-desk-booking"),
    path("desk/bookings/<int:pk>/<slug:step>/", views.desk_action, name="bookings-desk-action"),
]
