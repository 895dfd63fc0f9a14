using WebexGateway.Storage;

namespace WebexGateway.Tests.Storage;

public sealed class DerivedStringsTests
{
    [Fact]
    public void A_string_is_made_once_per_source_and_handed_out_again()
    {
        var made = 0;
        var keys = new DerivedStrings(id => { made++; return "session:" + id; });

        var first = keys.Of("abc");
        var again = keys.Of(new string("abc".AsSpan()));

        Assert.Equal("session:abc", first);
        Assert.Same(first, again);
        Assert.Equal(1, made);
        Assert.Equal("session:xyz", keys.Of("xyz"));
        Assert.Equal(2, made);
    }

    [Fact]
    public void Past_its_capacity_the_memory_starts_over_and_every_answer_stays_right()
    {
        var made = 0;
        var keys = new DerivedStrings(id => { made++; return "grant:" + id; }, capacity: 3);

        foreach (var id in new[] { "a", "b", "c", "d", "a" })
        {
            Assert.Equal("grant:" + id, keys.Of(id));
        }

        // a, b, c made; d found three kept and started over; a was forgotten with them.
        Assert.Equal(5, made);
        Assert.Same(keys.Of("a"), keys.Of("a"));
        Assert.Equal(5, made);
    }
}
