<?php
/*
 * Test-only must-use plugin: when the file "delay-posts" beside it holds N, every REST request
 * creating a post first sleeps N seconds, then goes on — so a client (or the task process
 * itself) can give up or be killed while the server still creates the post.
 */
add_filter('rest_pre_dispatch', function ($result, $server, $request) {
    $flag = __DIR__ . '/delay-posts';
    if ($request->get_method() === 'POST' && $request->get_route() === '/wp/v2/posts' && file_exists($flag)) {
        ignore_user_abort(true);
        file_put_contents(__DIR__ . '/delay-started', "1\n", FILE_APPEND);  // the request is inside WordPress
        sleep((int) trim(file_get_contents($flag)));
    }
    return $result;
}, 10, 3);

// Tests post many comments from 127.0.0.1 in a few seconds; WordPress's 15-second flood guard
// would refuse them. Moderation (first-time commenters are held) stays as on a real site.
add_filter('comment_flood_filter', '__return_false');
