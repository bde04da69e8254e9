from django.urls import path

from callrecords import views

app_name = "callrecords"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("mine/", views.my_calls, name="mine"),
    path("<str:table>.csv", views.export, name="export"),
    path("calls/<str:graph_id>/", views.call_detail, name="call"),
    path("pstn/", views.pstn, name="pstn"),
    path("buildings/", views.buildings, name="buildings"),
]
