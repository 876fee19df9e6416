from chalicelib.domain.users import HostingRules, hosting_eligibility


def test_seeded_demo_users_have_the_eligibility_the_readme_promises(dynamodb_local):
    from scripts.seed import seed

    seed()
    users = seed()  # twice: nothing doubles
    rules = HostingRules(600, 1000, 3)
    assert users["alice"].follower_count == 1200
    assert hosting_eligibility(users["alice"], rules).can_host
    assert not hosting_eligibility(users["alice"], rules).can_host_ticketed
    assert not hosting_eligibility(users["bob"], rules).can_host
    assert users["carol"].spaces_hosted_30d == 3
    assert hosting_eligibility(users["carol"], rules).can_host_ticketed
