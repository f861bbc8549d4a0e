from django.contrib.auth import get_user_model
from rest_framework import serializers

from consortium.models import ApiToken, Institution, Membership


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=512, style={"input_type": "password"})
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once: keep it safe.")
    prefix = serializers.CharField()
    expires_at = serializers.DateTimeField()


class TokenInfoSerializer(serializers.ModelSerializer):
    """A token as its owner sees it in a list: never the secret (never stored) nor its digest."""

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at"]
        read_only_fields = fields


class InstitutionSerializer(serializers.ModelSerializer):
    member_count = serializers.IntegerField(read_only=True, required=False)

    class Meta:
        model = Institution
        fields = ["id", "name", "slug", "kind", "lei", "created_at", "member_count"]
        read_only_fields = ["id", "created_at", "member_count"]


class UserSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = get_user_model()
        fields = ["id", "username", "first_name", "last_name"]


class MembershipSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    institution = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "institution", "role", "created_at"]
        read_only_fields = ["id", "user", "institution", "created_at"]


class MembershipRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    institution = InstitutionSerializer(allow_null=True)
    institution_role = serializers.CharField(allow_null=True)
    consortium_roles = serializers.ListField(child=serializers.CharField())
