from django.urls import path

from . import views

urlpatterns = [
    path("desk/insurance/", views.desk_queue, name="insurance-desk"),
    path("desk/insurance/<int:pk>/", views.desk_document, name="insurance-desk-document"),
    path("desk/insurance/<int:pk>/<slug:step>/", views.desk_action, name="insurance-desk-action"),
    path("help/insurance/", views.my_insurance, name="insurance-help"),
    path("help/insurance/<int:pk>/", views.my_document, name="insurance-help-document"),
    path(
        "help/insurance/<int:pk>/items/<int:item>/",
        views.my_document_provide,
        name="insurance-help-provide",
    ),
    path(
        "help/insurance/<int:pk>/replace/", views.my_document_replace, name="insurance-help-replace"
    ),
    path("insurance/documents/<int:pk>/file/", views.document_file, name="insurance-file"),
    path(
        "insurance/documents/<int:pk>/items/<int:item>/file/",
        views.item_file,
        name="insurance-item-file",
    ),
]
