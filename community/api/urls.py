"""REST routes of the community app, mounted under /api/v1/ by wemaster/urls.py."""

from django.urls import path

from community.api import views

urlpatterns = [
    path("community/posts", views.PostListView.as_view(), name="community-posts"),
    path("community/posts/<int:post_id>", views.PostDetailView.as_view(), name="community-post"),
    path("community/posts/<int:post_id>/comments", views.CommentListView.as_view(), name="community-comments"),
    path(
        "community/posts/<int:post_id>/comments/<int:comment_id>",
        views.CommentDetailView.as_view(),
        name="community-comment",
    ),
    path("community/posts/<int:post_id>/reaction", views.ReactionView.as_view(), name="community-reaction"),
    path("community/posts/<int:post_id>/accept-answer", views.AcceptAnswerView.as_view(), name="community-accept"),
    path("community/posts/<int:post_id>/report", views.PostReportView.as_view(), name="community-post-report"),
    path(
        "community/comments/<int:comment_id>/report",
        views.CommentReportView.as_view(),
        name="community-comment-report",
    ),
    path("community/feed", views.FeedView.as_view(), name="community-feed"),
    path("community/follows", views.FollowView.as_view(), name="community-follows"),
    path("community/tags", views.TagListView.as_view(), name="community-tags"),
]
