import pytest
from hypothesis import given
from hypothesis import strategies as st

from access.pii import cpf_is_valid, find_pii, mask_email, mask_name, mask_pii


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("escreva para maria.souza@gmail.com por favor", "escreva para [email] por favor"),
        ("meu cpf 529.982.247-25 foi usado", "meu cpf [cpf] foi usado"),
        ("cnpj 11.222.333/0001-81 da loja", "cnpj [cnpj] da loja"),
        ("liga (11) 98765-4321 amanhã", "liga [phone] amanhã"),
        ("call +1 415 555 2671 now", "call [phone] now"),
        ("moro na Rua das Flores, 123 perto", "moro na [address] perto"),
        ("cep 01310-100 centro", "cep [postal_code] centro"),
        ("produto chegou em 3 dias, nota 5", "produto chegou em 3 dias, nota 5"),
        ("", ""),
    ],
)
def test_mask_pii(text, expected):
    assert mask_pii(text) == expected


def test_cpf_check_digits():
    assert cpf_is_valid("52998224725") is True
    assert cpf_is_valid("52998224724") is False
    assert cpf_is_valid("11111111111") is False


def test_bare_eleven_digits_count_as_cpf_only_when_valid():
    assert [m.kind for m in find_pii("pedido 52998224725")] == ["cpf"]
    assert [m.kind for m in find_pii("pedido 12345678900")] != ["cpf"]


def test_name_and_email_masks():
    assert mask_name("Maria da Souza") == "M. d. S."
    assert mask_email("maria.souza@example.com") == "m***@example.com"


@given(st.text(max_size=300))
def test_masking_never_fails_and_never_leaves_an_email(text):
    masked = mask_pii(text)
    assert isinstance(masked, str)
    assert not any(m.kind == "email" for m in find_pii(masked))


@given(st.emails())
def test_any_email_inside_text_is_masked(email):
    assert email not in mask_pii(f"contato: {email} obrigado")
