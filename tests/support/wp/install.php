<?php
// Installs WordPress into the prepared docroot and creates an application password.
// Usage: php install.php DOCROOT SITE_URL ADMIN_PASSWORD
[$_, $docroot, $url, $admin_pw] = $argv;
$parts = parse_url($url);
$_SERVER['HTTP_HOST'] = $parts['host'] . (isset($parts['port']) ? ':' . $parts['port'] : '');
$_SERVER['REQUEST_URI'] = '/';
define('WP_INSTALLING', true);
function wp_new_blog_notification() {}  // no mail server here
require $docroot . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
$result = wp_install('Dinarpus Kendal (uji)', 'admin', 'admin@dinarpus.test', true, '', $admin_pw, 'id_ID');
$user_id = $result['user_id'];
// A second, low-privilege account: it may log in but not publish (for 403 tests).
$sub_id = wp_create_user('pelanggan', wp_generate_password(20), 'pelanggan@dinarpus.test');
$admin_app = WP_Application_Passwords::create_new_application_password($user_id, ['name' => 'sop-airflow']);
$sub_app = WP_Application_Passwords::create_new_application_password($sub_id, ['name' => 'sop-airflow']);
echo json_encode([
    'admin_user' => 'admin',
    'admin_password' => $admin_pw,
    'app_password' => $admin_app[0],
    'subscriber_user' => 'pelanggan',
    'subscriber_app_password' => $sub_app[0],
]);
