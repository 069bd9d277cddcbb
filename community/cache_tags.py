"""Cache tag names of the community app, in one place for the pages that carry them and the
services that invalidate them (wemaster.core.cache, invalidated on commit)."""

POSTS = "community:posts"  # every cached page of the posts list
UNFILTERED = "community:posts:unfiltered"  # pages filtered by neither tag nor author: any post may be on them
RANKED = "community:ranked"  # cached pages ordered by top/trending: the trending refresh reorders them
TAGS = "community:tags"  # the tag list
AUTHORS = "community:authors"  # every cached page that shows authors' display names (posts, comments)

# Removal marks of posts (wemaster.core.cache.removals): stale copies drop the posts marked.
REMOVED_POST = "post"


def post(post_id: int) -> str:
    return f"post:{post_id}"


def post_comments(post_id: int) -> str:
    return f"post:{post_id}:comments"


def tag(name: str) -> str:
    return f"tag:{name}"


def author(user_id: int) -> str:
    return f"author:{user_id}"
